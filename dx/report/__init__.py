"""`dx report`: the yearly results report the province sends upward (Báo cáo kết quả thực hiện chuyển đổi số năm
YYYY), as an Excel workbook and a PDF document. `model` assembles it (pure), `query` reads it, `workbook` and
`document` write it."""
