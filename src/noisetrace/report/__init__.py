"""Reports: experiment tables beside the paper's numbers (Markdown, CSV, LaTeX), SVG plots and
self-contained HTML pages. Reads result files; knows nothing of training internals."""
