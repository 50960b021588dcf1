"""Importers: plan tables (分工表) in the formats a coordinating office holds, read into a `Plan`.

- `base`: the neutral grid every reader returns, and the reader for each file suffix;
- `text`, `docx`, `xlsx`: one reader per format;
- `header`: the header row found by its column names, and which columns hold what;
- `table`: the sections and the task rows below the header;
- `units`: the responsible-units cell (lead, co-units);
- `build`: `import_plan(path, …)`, the whole import, with its warnings.

The readers know only their file format; `table` and `units` only the wording of such tables;
`build` alone reads deadlines (through the deadline grammar) and makes the plan.
"""
