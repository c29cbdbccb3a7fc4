"""Spreadsheet imports (issue 12): reading real files (`reading`), the rules of each kind (`actions`), the
life of an uploaded file between preview and confirmation (`batches`) and its pages (`views`)."""
