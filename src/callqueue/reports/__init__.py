"""Supervision reports (督查统计): figures per section, the lists behind them, workbooks."""
