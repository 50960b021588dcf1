"""Importers: plans in the forms a coordinating office receives, read into a `Plan`.

- `base`: the neutral grid and paragraphs every reader returns (`Document`), and the reader for
  each file suffix;
- `text`, `docx`, `xlsx`, `html` (with `charset`), `pdf` (with `pdflines`, `pdfbounds`): one
  reader per format; `convert`: the old formats through LibreOffice, then the .docx or .xlsx
  reader;
- `header`: the header row found by its column names, and which columns hold what;
- `table`: the sections and the task rows below the header;
- `prose`: a prose plan's numbered items, each closed by its units bracket;
- `units`: the responsible-units cell or bracket (lead, co-units);
- `limits`, `package`: the bounds every reader keeps (file size, zip parts, cells, text);
- `build`: `import_plan(path, …)`, the whole import, with its warnings.

The readers know only their file format; `table`, `prose` and `units` only the wording of plans;
`build` alone reads deadlines (through the deadline grammar) and makes the plan.
"""
