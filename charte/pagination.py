"""A paginator for lists that reach millions of rows (the national actions list: 2 M actions).

Django's paginator counts every row before showing page 1: on 2 M joined actions that count alone cost more than
the page. Here the count stops at `settings.LIST_EXACT_COUNT_LIMIT` rows (a `LIMIT` inside the count): under it
the count is exact, as before; beyond it PostgreSQL's planner estimate is shown instead ("Environ N résultats"),
read from `EXPLAIN` without touching the rows. Page links keep working (an OFFSET read along the list's index);
a page past the real end, possible when the estimate is too high, is simply empty. Other databases (SQLite in
the tests) count exactly.

Why not keyset pagination: the DSFR pagination offers numbered pages, and with the index matching the order
(`action_date_pk_idx`) an OFFSET of a few thousand rows is read from the index in milliseconds; the estimate
removes the only full scan.
"""

import json

from django.conf import settings
from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property


def planner_estimate(queryset):
    """PostgreSQL's estimate of the number of rows the queryset returns, or None elsewhere."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class LargeListPaginator(Paginator):
    count_is_estimate = False

    @cached_property
    def count(self):
        limit = settings.LIST_EXACT_COUNT_LIMIT
        counted = self.object_list.order_by()[: limit + 1].count()
        if counted <= limit:
            return counted
        estimate = planner_estimate(self.object_list)
        if estimate is None:
            return self.object_list.count()
        self.count_is_estimate = True
        # The planner may guess below what was just counted: never show fewer rows than are known to exist.
        return max(estimate, counted)
