"""Hardware-vs-software reports: where and how much a hardware run departs from the
software run of the same unchanged PyNN script.

    report = neurohw.report.compare("script.py", sw=("reference", "brian2"), targets=("fpga",))
    report.print(); report.write("out/")          # out/report.html, out/report.json

From inside a script, after ``sim.run(...)``: ``neurohw.report.compare_current()``.
The JSON document follows ``schema/report-1.0.schema.json`` (:data:`SCHEMA_PATH`,
version :data:`SCHEMA_VERSION`), which documents every field and its unit.
"""
from .analysis import SCHEMA_NAME, SCHEMA_VERSION
from .report import SCHEMA_PATH, Report, compare, compare_current, report_from_runs
from .runs import DEVICE, MODEL, SOFTWARE, RunRecord

__all__ = ["compare", "compare_current", "report_from_runs", "Report", "RunRecord",
           "SCHEMA_NAME", "SCHEMA_VERSION", "SCHEMA_PATH", "SOFTWARE", "MODEL", "DEVICE"]
