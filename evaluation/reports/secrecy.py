"""Statistical secrecy of what leaves the portal without sign-in (methodology §13, "Secret statistique").

The open data publishes, for a year, the table départements x families of five counts. Anyone also knows (or
can get) its margins: the totals per département over families, per family over départements and the grand
total (the public home page shows the national one). Hiding the small counts is therefore not enough: a hidden
cell must not be recoverable from the cells still published, its complements and those margins.

1. Primary secrecy: a count of 1 to 4 is hidden (0 is not secret). Complements too: non-residents
   (beneficiaries - QPV residents) of 1 to 4 hide the QPV residents; companies expected that did not report
   (expected - reporting) of 1 to 4 hide the reporting ones.
2. Secondary secrecy, for the additive counts (actions, beneficiaries, QPV residents), table by table: a hidden
   cell is recovered from the margins exactly when it is a *bridge* of the bipartite graph rows = départements,
   columns = families, edges = hidden cells (the cut of the bridge splits the hidden cells in two groups, and
   the margins of one group's rows minus those of its columns give the bridge alone). It is safe when it lies
   on a cycle of hidden cells: any value added and removed in turn around the cycle keeps every margin. So,
   while a hidden cell is a bridge, the published cells that close the cheapest rectangle with it are hidden
   too (smallest values first, zeros last: a hidden zero is bounded by 0 and protects less).
   Non-residents need no pass of their own: they are hidden wherever beneficiaries or QPV residents are, so
   their hidden cells are the union of two bridge-free graphs, itself bridge-free; and a cell's non-residents
   are b - Q or B - q or B - Q, undetermined as soon as the hidden term is (the beneficiaries and the QPV
   residents tables share no equation but the cells'). The fixed point of the three interacting tables is
   thus reached after one pass of each of the first two.
   Companies expected and reporting are distinct companies: a département's or a family's total is not the
   sum of its cells, so no margin gives a cell back; hiding one term of a small complement protects it.
3. A share is published only when its two terms are (the open data applies it to part_beneficiaires_qpv).
5. Survey answers (methodology §15), one table per survey indicator: respondents of 1 to 4 are hidden; the
   positive answers (published as the share of positive answers) wherever fewer than 5 people answered or the
   respondents are hidden; then each of the two additive tables gets the secondary suppression above
   (`suppress_answers`). Positive answers of 1 to 4 among 5 respondents or more are not hidden: the respondents
   are anonymous, a share over 5 of them designates nobody (the survey results page shows it as well).

This module knows nothing of the database: `suppress` takes the table's cells and says which to hide.
"""

import heapq
from collections import defaultdict
from dataclasses import dataclass, field

THRESHOLD = 5

ACTIONS = "actions"
BENEFICIARIES = "beneficiaires"
QPV_RESIDENTS = "beneficiaires_qpv"
EXPECTED = "entreprises_attendues"
REPORTING = "entreprises_ayant_declare"
COUNTS = (ACTIONS, BENEFICIARIES, QPV_RESIDENTS, EXPECTED, REPORTING)
# The counts that add up from départements and families to the known margins.
ADDITIVE = (ACTIONS, BENEFICIARIES, QPV_RESIDENTS)

PRIMARY = "primaire"
COMPLEMENT = "complement"
SECONDARY = "secondaire"


def is_small(value):
    """A count that could point at one company or a handful of people: 1 to 4. Zero is not secret."""
    return value is not None and 0 < value < THRESHOLD


@dataclass
class Suppression:
    # (row, column) -> {count code: reason}
    hidden: dict = field(default_factory=lambda: defaultdict(dict))
    # Hidden cells no cycle could protect (their row or column has no other cell to hide with them): only a
    # table of one département or one family leaves such a cell, whose margin then equals it.
    unprotected: set = field(default_factory=set)

    def is_hidden(self, cell, code):
        return code in self.hidden.get(cell, ())

    def count(self, code):
        return sum(1 for codes in self.hidden.values() if code in codes)


def suppress(cells):
    """Which counts of the table to hide. `cells`: {(row, column): {count code: value or None}}."""
    result = Suppression()
    for cell, values in cells.items():
        for code in COUNTS:
            if is_small(values.get(code)):
                result.hidden[cell][code] = PRIMARY
        # A complement is published only through its two terms: when one is hidden already, the complement is
        # as undetermined as that term.
        for whole, part in ((BENEFICIARIES, QPV_RESIDENTS), (EXPECTED, REPORTING)):
            if values.get(whole) is None or values.get(part) is None or result.hidden[cell].keys() & {whole, part}:
                continue
            if is_small(values[whole] - values[part]):
                result.hidden[cell][part] = COMPLEMENT
    for code in ADDITIVE:
        table = {cell: values.get(code) for cell, values in cells.items() if values.get(code) is not None}
        hidden = {cell for cell in table if result.is_hidden(cell, code)}
        added, unprotected = protect(table, hidden)
        for cell in added:
            result.hidden[cell][code] = SECONDARY
        result.unprotected |= {(cell, code) for cell in unprotected}
    result.hidden = {cell: codes for cell, codes in result.hidden.items() if codes}
    return result


RESPONDENTS = "repondants"
POSITIVE = "reponses_positives"


def suppress_answers(cells):
    """Which counts of one survey indicator's table to hide (rule 5). `cells`: {(row, column): {RESPONDENTS: n,
    POSITIVE: n}} for every cell of the table (0 respondents where nobody answered)."""
    result = Suppression()
    respondents = {cell: values[RESPONDENTS] for cell, values in cells.items()}
    for cell, value in respondents.items():
        if is_small(value):
            result.hidden[cell][RESPONDENTS] = PRIMARY
    added, unprotected = protect(respondents, {cell for cell in respondents if result.is_hidden(cell, RESPONDENTS)})
    for cell in added:
        result.hidden[cell][RESPONDENTS] = SECONDARY
    positive = {cell: values[POSITIVE] for cell, values in cells.items()}
    withheld = {cell for cell in positive if respondents[cell] < THRESHOLD and respondents[cell] > 0}
    withheld |= {cell for cell in positive if result.is_hidden(cell, RESPONDENTS)}
    for cell in withheld:
        result.hidden[cell][POSITIVE] = PRIMARY
    added_positive, unprotected_positive = protect(positive, withheld)
    for cell in added_positive:
        result.hidden[cell][POSITIVE] = SECONDARY
    result.unprotected = {(cell, RESPONDENTS) for cell in unprotected} | {(cell, POSITIVE) for cell in unprotected_positive}
    result.hidden = {cell: codes for cell, codes in result.hidden.items() if codes}
    return result


def protect(table, hidden):
    """Secondary suppression of one additive table: the cells to hide besides `hidden` so that none is a bridge.

    `table`: {(row, column): value} of the cells present. Returns (the added cells, the cells left bridges)."""
    hidden = set(hidden)
    added = set()
    unprotected = set()
    rows = defaultdict(set)
    columns = defaultdict(set)
    for row, column in table:
        rows[row].add(column)
        columns[column].add(row)
    while True:
        bridges = sorted(bridges_of(hidden) - unprotected, key=_order)
        if not bridges:
            # A cell given up on may have been put on a cycle by a later closing.
            return added, unprotected & bridges_of(hidden)
        # The bridges of one pass are closed in turn. Hiding cells only ever removes bridges, so a bridge of the
        # pass is checked again (a path between its row and column, avoiding it) before its rectangle is hidden:
        # an earlier closing may have put it on a cycle already, and a rectangle hidden for nothing costs
        # published figures. One search per bridge instead of a new pass of Tarjan's algorithm per closing.
        for row, column in bridges:
            if not _is_bridge(hidden, row, column):
                continue
            closing = _cheapest_rectangle(table, hidden, rows, columns, row, column)
            if closing is None:
                closing = _cheapest_cycle(table, hidden, row, column)
            if closing is None:
                unprotected.add((row, column))
                continue
            hidden |= closing
            added |= closing


def _order(cell):
    return (str(cell[0]), str(cell[1]))


def _is_bridge(hidden, row, column):
    """Whether the hidden cell (row, column) is the only path between its row and its column."""
    neighbours = defaultdict(list)
    for cell in hidden:
        if cell != (row, column):
            neighbours[("r", cell[0])].append(("c", cell[1]))
            neighbours[("c", cell[1])].append(("r", cell[0]))
    start, goal = ("r", row), ("c", column)
    seen = {start}
    frontier = [start]
    while frontier:
        node = frontier.pop()
        for neighbour in neighbours[node]:
            if neighbour == goal:
                return False
            if neighbour not in seen:
                seen.add(neighbour)
                frontier.append(neighbour)
    return True


def _cheapest_rectangle(table, hidden, rows, columns, row, column):
    """The published cells that close the cheapest rectangle with the hidden cell (row, column): smallest sum
    first; a rectangle that would hide a zero comes after every other one; then the fewest cells."""
    best = None
    for other_row in sorted(columns[column] - {row}, key=str):
        for other_column in sorted(rows[row] - {column}, key=str):
            corners = ((row, other_column), (other_row, column), (other_row, other_column))
            zero, total, new_cells = False, 0, []
            for cell in corners:
                if cell not in table:
                    break
                if cell not in hidden:
                    value = table[cell]
                    zero, total = zero or value == 0, total + value
                    new_cells.append(cell)
            else:
                cost = (zero, total, len(new_cells))
                if best is None or cost < best[0]:
                    best = (cost, new_cells)
    return set(best[1]) if best else None


def _cheapest_cycle(table, hidden, row, column):
    """When no rectangle can be closed (missing cells), the cheapest longer cycle: the cheapest path from the
    column back to the row through other cells (Dijkstra; a hidden cell costs nothing, a zero a lot)."""
    penalty = 1 + sum(table.values())
    graph = defaultdict(list)
    for cell in table:
        if cell == (row, column):
            continue
        weight = 0 if cell in hidden else (table[cell] or penalty)
        graph[("r", cell[0])].append((("c", cell[1]), weight, cell))
        graph[("c", cell[1])].append((("r", cell[0]), weight, cell))
    start, goal = ("c", column), ("r", row)
    distances = {start: 0}
    previous = {}
    queue = [(0, 0, start)]
    counter = 1
    while queue:
        distance, _, node = heapq.heappop(queue)
        if node == goal:
            break
        if distance > distances.get(node, distance):
            continue
        for neighbour, weight, cell in graph[node]:
            candidate = distance + weight
            if candidate < distances.get(neighbour, candidate + 1):
                distances[neighbour] = candidate
                previous[neighbour] = (node, cell)
                heapq.heappush(queue, (candidate, counter, neighbour))
                counter += 1
    if goal not in previous:
        return None
    path = set()
    node = goal
    while node != start:
        node, cell = previous[node]
        path.add(cell)
    return path - hidden


def bridges_of(cells):
    """The bridges of the bipartite graph rows x columns whose edges are `cells` (Tarjan's low-link)."""
    cells_list = list(cells)
    graph = defaultdict(list)
    for index, (row, column) in enumerate(cells_list):
        graph[("r", row)].append((("c", column), index))
        graph[("c", column)].append((("r", row), index))
    order = {}
    low = {}
    bridges = set()
    for root in graph:
        if root in order:
            continue
        order[root] = low[root] = len(order)
        # Iterative depth-first search: (node, the edge it was reached by, iterator over its edges).
        stack = [(root, None, iter(graph[root]))]
        while stack:
            node, via, edges = stack[-1]
            advanced = False
            for neighbour, edge in edges:
                if edge == via:
                    continue
                if neighbour in order:
                    low[node] = min(low[node], order[neighbour])
                else:
                    order[neighbour] = low[neighbour] = len(order)
                    stack.append((neighbour, edge, iter(graph[neighbour])))
                    advanced = True
                    break
            if advanced:
                continue
            stack.pop()
            if stack:
                parent = stack[-1][0]
                low[parent] = min(low[parent], low[node])
                if low[node] > order[parent]:
                    bridges.add(cells_list[via])
    return bridges
