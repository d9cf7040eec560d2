"""Type stubs of the native module ``mmm._mmm`` (see bindings/python/src/lib.rs)."""

from typing import Any, Callable, List, Optional, Tuple, Union

__version__: str

BarState = Tuple[str, str, int, Optional[int], bool]
Columns = List[Tuple[str, Union[bytes, List[Optional[str]]]]]

class MmmError(Exception):
    """Base class of mmm's errors; ``code`` is the CLI's exit code (2 bad input, 1 fault)."""

    code: int
    issues: List[dict]
    message: str

class SpecError(MmmError):
    """The spec is invalid: ``issues`` lists every problem; ``pointer`` is the first one's."""

    pointer: str
    file: str

class DataError(MmmError):
    """The data is invalid, at ``file``, ``line``, ``row`` (0-based data row), ``column``."""

    file: str
    line: Optional[int]
    row: Optional[int]
    column: Optional[str]

class InfeasibleError(MmmError):
    """Constraints that cannot all hold."""

class Run:
    """A fitted run, in memory."""

    def results_json(self) -> str: ...
    def decomposition_csv(self) -> str: ...
    def draws_csv(self) -> Optional[str]: ...
    def report_html(self) -> str: ...
    def save(self, dir: str) -> List[str]: ...
    def optimize(self, optimizer_json: str) -> str: ...
    def model(self) -> Model: ...

class Model:
    """A saved model (model.json), loaded."""

    def predict(self, plan_path: str, frame: Optional[Columns] = None) -> Tuple[str, str]: ...
    def date_column(self) -> str: ...
    def channels(self) -> List[str]: ...

def load_model(path: str) -> Model: ...

def validate(
    spec_json: str, base_dir: str, label: str, frame: Optional[Columns] = None
) -> List[dict]: ...
def fit(
    spec_json: str,
    base_dir: str,
    label: str,
    frame: Optional[Columns] = None,
    progress: Optional[Callable[[List[BarState]], Any]] = None,
) -> Run: ...
def simulate(simspec_json: str, label: str) -> Tuple[str, str]: ...
def study(
    study_json: str,
    base_dir: str,
    label: str,
    out_dir: str,
    progress: Optional[Callable[[List[BarState]], Any]] = None,
) -> str: ...
def plugins() -> str: ...
def schema() -> str: ...
def simspec_schema() -> str: ...
def cli(args: List[str]) -> int: ...
