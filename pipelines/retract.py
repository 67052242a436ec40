"""Retract: take a loaded file back, with a record, so the next run publishes without it.

``tracepipe retract <file name or load id> --reason "..."``:

- the load's rows leave the current state: they move from ``raw.<kind>`` to
  ``retracted.<kind>`` (with when, why and the change sequence), so the previous
  version of each key becomes current again and a key only this file brought is gone;
- the ledger marks the load ``retracted`` (``retracted_at``, ``retraction_reason``);
  its quarantined rows stay where they are, under a retracted load;
- the same bytes landed again are not loaded (a corrected file, new bytes, is).

All of it is one transaction: a retraction is whole or not at all.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass

from pipelines.config import Settings
from pipelines.contracts import CONTRACTS
from pipelines.ingest import ensure_tables, key_sql, next_change_seq
from pipelines.warehouse import connect

log = logging.getLogger(__name__)


class RetractRefused(RuntimeError):
    """The retraction cannot be done as asked; the message says what to do."""


@dataclass
class Retraction:
    load_id: str
    kind: str
    file_name: str
    reason: str
    retracted_at: str
    rows: int
    keys_restored: int  # keys whose previous version is current again
    keys_removed: int  # keys that only this load brought

    def to_dict(self) -> dict:
        return asdict(self)


def find_load(con, target: str) -> tuple[str, str, str]:
    """(load id, kind, file name) of the one live load a name or load id points to."""
    rows = con.execute(
        "select load_id, kind, file_name, status from meta.load_ledger "
        "where (load_id = ? or file_name = ?) and status in ('loaded', 'retracted') "
        "order by loaded_at",
        [target, target],
    ).fetchall()
    live = [r for r in rows if r[3] == "loaded"]
    if not live:
        if rows:
            raise RetractRefused(
                f"{target} was retracted already ({rows[-1][1]}/{rows[-1][2]}, load "
                f"{rows[-1][0]}); nothing to do"
            )
        raise RetractRefused(
            f"no loaded file or load id is named {target!r}: `tracepipe status` lists the "
            "loads (give the file name as it was landed, without its folder)"
        )
    if len(live) > 1:
        ids = ", ".join(f"{r[0]} ({r[1]}/{r[2]})" for r in live)
        raise RetractRefused(
            f"{len(live)} loaded files are named {target!r}: give the load id of the one to "
            f"take back: {ids}"
        )
    load_id, kind, file_name, _ = live[0]
    return load_id, kind, file_name


def retract(settings: Settings, target: str, reason: str) -> Retraction:
    reason = (reason or "").strip()
    if not reason:
        raise RetractRefused(
            'say why the file is taken back: tracepipe retract FILE --reason "..."'
        )
    if not settings.warehouse_path.exists():
        raise RetractRefused(
            f"there is no warehouse at {settings.warehouse_path} yet: nothing was loaded"
        )
    with connect(settings) as con:
        ensure_tables(con)
        load_id, kind, file_name = find_load(con, target.strip())
        contract = CONTRACTS[kind]
        now = dt.datetime.now()
        key_exprs = key_sql(contract, "r")
        keys = ", ".join(f"{e} as k{i}" for i, e in enumerate(key_exprs))
        on = " and ".join(f"t.k{i} is not distinct from l.k{i}" for i in range(len(key_exprs)))
        con.execute("begin transaction")
        try:
            seq = next_change_seq(con)
            n_rows = con.execute(
                f"select count(*) from raw.{kind} where _load_id = ?", [load_id]
            ).fetchall()[0][0]
            con.execute(
                f"insert into retracted.{kind} by name select *, ?::timestamp as _retracted_at, "
                f"?::bigint as _retract_seq, ?::varchar as _retraction_reason "
                f"from raw.{kind} where _load_id = ?",
                [now, seq, reason, load_id],
            )
            con.execute(f"delete from raw.{kind} where _load_id = ?", [load_id])
            keys_restored, keys_removed = con.execute(
                f"""
                with taken as (select distinct {keys} from retracted.{kind} r
                               where r._load_id = ? and r._retract_seq = ?),
                     left_over as (select distinct {keys}, true as present from raw.{kind} r)
                select count(*) filter (where l.present),
                    count(*) filter (where l.present is null)
                from taken t left join left_over l on {on}
                """,
                [load_id, seq],
            ).fetchall()[0]
            con.execute(
                "update meta.load_ledger set status = 'retracted', retracted_at = ?, "
                "retraction_reason = ?, retract_seq = ? where load_id = ? and status = 'loaded'",
                [now, reason, seq, load_id],
            )
            moved = con.execute(
                f"select count(*) from retracted.{kind} where _load_id = ? and _retract_seq = ?",
                [load_id, seq],
            ).fetchall()[0][0]
            if moved != n_rows:
                raise RuntimeError(
                    f"retracting {kind}/{file_name}: {n_rows} rows in raw but {moved} moved; "
                    "nothing was changed"
                )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    result = Retraction(
        load_id=load_id,
        kind=kind,
        file_name=file_name,
        reason=reason,
        retracted_at=now.isoformat(timespec="seconds"),
        rows=n_rows,
        keys_restored=keys_restored,
        keys_removed=keys_removed,
    )
    log.info(
        "retracted %s/%s (load %s): %d rows taken back, %d keys back to their previous "
        "version, %d keys gone",
        kind,
        file_name,
        load_id,
        n_rows,
        keys_restored,
        keys_removed,
        extra={"outcome": True},
    )
    return result
