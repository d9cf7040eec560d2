"""Progress bars of long work (tuning, sampling chains, study variants) drawn with tqdm: in
Jupyter as widgets (``tqdm.auto``), in a terminal as text. The Rust core reports the state of
its bars about ten times a second while the fit runs without the GIL."""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Tuple, Union

#: One bar's state as the core reports it: (prefix, message, position, length, finished).
BarState = Tuple[str, str, int, Optional[int], bool]

ProgressArg = Union[bool, Callable[[List[BarState]], Any], None]


class TqdmBars:
    """A callback that draws the core's bars with tqdm (one tqdm bar per core bar)."""

    def __init__(self) -> None:
        from tqdm.auto import tqdm  # noqa: WPS433 (optional dependency)

        self._tqdm = tqdm
        self._bars: List[Any] = []

    def __call__(self, states: List[BarState]) -> None:
        for i, (prefix, message, position, length, finished) in enumerate(states):
            if i == len(self._bars):
                self._bars.append(self._tqdm(total=length, desc=prefix or message, leave=True))
            bar = self._bars[i]
            if prefix:
                bar.set_postfix_str(message, refresh=False)
            if position > bar.n:
                bar.update(position - bar.n)
            if finished and not bar.disable and bar.total is not None and bar.n < bar.total:
                bar.total = bar.n
            if finished:
                bar.close()


def callback(progress: ProgressArg) -> Optional[Callable[[List[BarState]], Any]]:
    """The callback for a ``progress=`` argument: ``True`` draws with tqdm when it is
    installed (else nothing), ``False``/``None`` nothing, a callable receives the states."""
    if progress is None or progress is False:
        return None
    if progress is True:
        try:
            return TqdmBars()
        except ImportError:
            return None
    if callable(progress):
        return progress
    raise TypeError("progress is True, False or a callable taking the list of bar states")
