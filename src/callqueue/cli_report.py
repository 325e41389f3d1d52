"""`callqueue report` and `callqueue export report`: the supervision figures for 政务服务科."""

from __future__ import annotations
