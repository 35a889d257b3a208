"""Selects run on the database driver's own cursor: compiled once per dialect, rows converted by the column types.

For the few reads every opening of the taskpane makes (the lookup), SQLAlchemy's execution layer costs about twice
what SQLite itself does for each statement (`benchmarks/lookup.py`). A ``DriverSelect`` keeps the statement as Core
builds it, so its SQL is what SQLAlchemy would send: it is compiled by the connection's dialect once per shape of
its parameters (how many values each expanding ``IN`` has), and each run only binds values, executes on the
connection's DB-API cursor and applies the result processors of the selected columns' types (SQLite's text
timestamps become datetimes, its 0 and 1 booleans). Bound values go through their types' bind processors too.
The rows equal what ``Connection.execute(statement).all()`` gives, value for value (tests/test_driver_select.py).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.engine import Dialect

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...] | None  # the order of the placeholders, for a positional paramstyle (SQLite's "?")
    defaults: Mapping[str, Any]  # values fixed in the statement (a LIMIT)
    binds: Mapping[str, Callable[[Any], Any]]  # the parameters whose type converts the value
    results: tuple[Processor, ...]


class DriverSelect:
    def __init__(self, statement: Select):
        self.statement = statement
        self._compiled: dict[tuple, _Compiled] = {}

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[tuple]:
        """The statement's rows for ``params`` (a sequence for each expanding parameter), on ``connection``'s
        transaction."""
        dialect = connection.dialect  # its driver too: psycopg and psycopg2 are both "postgresql"
        shape = (dialect.name, dialect.driver, dialect.paramstyle,
                 tuple(sorted((name, len(value)) for name, value in params.items() if isinstance(value, list | tuple))))
        compiled = self._compiled.get(shape)
        if compiled is None:
            compiled = self._compiled[shape] = _compile(self.statement, dialect, params)
        values = dict(compiled.defaults)  # every bound parameter, an expanding one's as name_1 .. name_n
        for name, value in params.items():
            if isinstance(value, list | tuple):
                values.update((f"{name}_{index}", item) for index, item in enumerate(value, 1))
            else:
                values[name] = value
        for name, process in compiled.binds.items():
            if values[name] is not None:
                values[name] = process(values[name])
        bound = values if compiled.names is None else tuple(values[name] for name in compiled.names)
        cursor = connection.connection.driver_connection.cursor()
        try:
            cursor.execute(compiled.sql, bound)
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        processors = compiled.results
        if not any(processors):
            return [tuple(row) for row in fetched]
        return [tuple(value if process is None or value is None else process(value)
                      for process, value in zip(processors, row, strict=True)) for row in fetched]


def _compile(statement: Select, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
    # An expanding IN is rendered as one placeholder per value ("render_postcompile"), which needs a value for
    # every parameter at compile time: the caller's, only to fix the shape; they are bound anew on each run.
    plain = statement.compile(dialect=dialect)
    missing = set(plain.binds) - set(params) - {name for name, bind in plain.binds.items() if bind.value is not None}
    if missing:
        raise KeyError(f"no value for {', '.join(sorted(missing))}")
    compiled = statement.params(**{name: value for name, value in params.items() if name in plain.binds}).compile(
        dialect=dialect, compile_kwargs={"render_postcompile": True})
    names = tuple(compiled.positiontup) if compiled.positional else None
    base = {}  # the parameter each rendered name belongs to
    for name, bind in plain.binds.items():
        if bind.expanding:
            base.update((f"{name}_{index}", bind) for index in range(1, len(params[name]) + 1))
        else:
            base[name] = bind
    defaults = {name: bind.value for name, bind in plain.binds.items() if name not in params and not bind.expanding}
    binds = {name: process for name, bind in base.items()
             if (process := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None}
    results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                    for column in statement.selected_columns)
    return _Compiled(str(compiled), names, defaults, binds, results)

