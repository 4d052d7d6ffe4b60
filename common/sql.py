"""Hand-written SELECTs read into model instances, for the few hot paths where building the
query with the ORM costs more than running it.

A queryset is compiled again on every call (filters cloned, joins resolved, SQL written):
for a short query on a hot path that is most of its cost (the emergency draw's first
expiry first out read: ~3 ms of Python against 0.2 ms to run it). There, the SQL is written
once and read with ``select_models``, which builds the instances exactly as a queryset
would (the database backend's and the fields' converters, then ``Model.from_db``), so that
what follows cannot tell them apart. Each such statement has a twin queryset that states the
rule, and a test proving the two equal.
"""

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections
from django.db.models import Model

Converter = Callable[[Any, Any, Any], Any]


def model_columns(model: type[Model], alias: str, *, using: str = "default") -> str:
    """The columns ``select_models`` reads for ``model``, from the table named ``alias``:
    its concrete fields in their order, quoted, comma-separated."""
    quote = connections[using].ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


def _converters(model: type[Model], using: str) -> list[list[tuple[Converter, Any]]]:
    connection = connections[using]
    found = []
    for field in model._meta.concrete_fields:
        col = field.get_col(model._meta.db_table)
        found.append(
            [
                (converter, col)
                for converter in (
                    *connection.ops.get_db_converters(col),
                    *col.get_db_converters(connection),
                )
            ]
        )
    return found


def select_models(
    sql: str,
    params: Sequence[Any],
    models: Sequence[type[Model]],
    *,
    extra: int = 0,
    using: str = "default",
) -> list[tuple[Any, ...]]:
    """Run ``sql``, whose columns are those of ``model_columns`` for each of ``models`` in
    turn and then ``extra`` more, and return each row as one instance of each model (its
    values converted as a queryset converts them) followed by the extra values as the
    database gave them."""
    connection = connections[using]
    shapes = [
        (model, [f.attname for f in model._meta.concrete_fields], _converters(model, using))
        for model in models
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        rows = cursor.fetchall()
    found: list[tuple[Any, ...]] = []
    for row in rows:
        at = 0
        built: list[Any] = []
        for model, names, converters in shapes:
            values = list(row[at : at + len(names)])
            for i, column_converters in enumerate(converters):
                for converter, col in column_converters:
                    values[i] = converter(values[i], col, connection)
            built.append(model.from_db(using, names, values))
            at += len(names)
        found.append((*built, *row[at : at + extra]))
    return found
