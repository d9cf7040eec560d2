"""A notebook session as a script: fit the quickstart from a DataFrame, show the summary
and the HTML report, and plot a response curve with matplotlib (Agg backend). Run by
test_notebook.py; prints the path of the figure it saved."""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

import mmm  # noqa: E402

root = Path(__file__).resolve().parents[3]
out = Path(sys.argv[1])

df = pd.read_csv(root / "examples/quickstart/data.csv", parse_dates=["DATE"])
fit = mmm.fit(root / "examples/quickstart/spec.json", data=df)
print(fit.summary[["spend", "contribution", "share", "roi", "mroi"]])

inline = fit._repr_html_()  # what Jupyter shows for `fit`
report = fit.report_html()
assert "<table" in inline and report.startswith("<!DOCTYPE html>"), report[:40]

curve = fit.response_curves["tv"]
ax = curve.plot(y="response", title="tv: response over the horizon")
ax.axvline(curve.attrs["current_spend"], linestyle="--")
ax.set_xlabel("spend per period")
fig = ax.get_figure()
fig.savefig(out / "tv_curve.png")
plt.close(fig)

decomposition = fit.decomposition
ax = decomposition[["actual", "predicted"]].plot()
ax.get_figure().savefig(out / "fit.png")
print(out / "tv_curve.png")
