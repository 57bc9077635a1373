"""The printed table: one row per figure, a column per database (median, min-max), and its goal."""


def _fmt(v) -> str:
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"


def _cell(m: dict | None) -> str:
    if not m:
        return ""
    if m.get("median") is None:
        return m.get("note", "n/a")
    spread = "" if m["min"] == m["max"] else f" ({_fmt(m['min'])}-{_fmt(m['max'])})"
    return f"{_fmt(m['median'])}{spread} {m['unit']}"


def _load(report: dict, start: bool):
    if start:
        values = report.get("figures", {}).get("machine", {}).get("machine", {}).get("load_average_at_start")
    else:
        values = report.get("load_average_at_end")
    return values[0] if values else "?"


def _meets(m: dict | None) -> str:
    goal = (m or {}).get("goal", "")
    if not goal or m.get("median") is None:
        return ""
    op, value = goal.split()
    value = float(value)
    return "ok" if (m["median"] >= value if op == ">=" else m["median"] <= value) else "MISS"


def rows(reports: dict) -> list[tuple]:
    """(figure, label, {db: metric}) in figure order, labels merged across databases."""
    order: list[tuple] = []
    seen = set()
    for rep in reports.values():
        for fig, res in rep.get("figures", {}).items():
            for m in res.get("metrics", []):
                if (fig, m["label"]) not in seen:
                    seen.add((fig, m["label"]))
                    order.append((fig, m["label"]))
    out = []
    for fig, label in order:
        cells = {}
        for db, rep in reports.items():
            for m in rep.get("figures", {}).get(fig, {}).get("metrics", []):
                if m["label"] == label:
                    cells[db] = m
        out.append((fig, label, cells))
    return out


def print_table(reports: dict) -> None:
    if not reports:
        print("no results")
        return
    dbs = list(reports)
    first = next(iter(reports.values()))
    mach = first.get("figures", {}).get("machine", {}).get("machine", {})
    if mach:
        print(f"\nmachine: {mach.get('cpu')}, {mach.get('cores')} cores, {mach.get('memory_gib')} GiB"
              f"{'  (quick mode: smoke sizes, 1 run)' if first.get('quick') else ''}")
        loads = ", ".join(f"{db} {_load(rep, True)}->{_load(rep, False)}" for db, rep in reports.items())
        print(f"load average (1 min) at start->end of each database's run: {loads}")
    print("each figure: median of 3 runs after a warm-up (min-max)\n")
    header = ["figure", *[db for db in dbs], "goal"]
    table = []
    for fig, label, cells in rows(reports):
        goals = list(dict.fromkeys(f"{m['goal']}" for m in cells.values() if m.get("goal")))
        goal = " | ".join(goals) if len(goals) == 1 else " | ".join(
            f"{db} {m['goal']}" for db, m in cells.items() if m.get("goal"))
        marks = "/".join(_meets(cells.get(db)) or "-" for db in dbs) if goal else ""
        goal_txt = f"{goal} [{marks}]" if goal else ""
        table.append([f"{fig}: {label}", *[_cell(cells.get(db)) for db in dbs], goal_txt])
    for db, rep in reports.items():
        for fig, res in rep.get("figures", {}).items():
            if res.get("error"):
                kind = "SKIPPED" if res["error"].startswith("skipped") else "ERROR"
                table.append([f"{fig}: {kind} ({db})", res["error"][:90], *[""] * (len(dbs) - 1), ""])
            for miss in res.get("missing", []):
                table.append([f"{fig}: {miss} ({db})", "missing", *[""] * (len(dbs) - 1), ""])
    widths = [max(len(str(r[i])) for r in [header, *table]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print(line)
    for r in table:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))
    notes = [(fig, label, db, m["note"]) for fig, label, cells in rows(reports)
             for db, m in cells.items() if m.get("note")]
    if notes:
        print("\nnotes:")
        for fig, label, db, note in notes:
            print(f"  {fig}: {label.strip()} ({db}): {note}")
