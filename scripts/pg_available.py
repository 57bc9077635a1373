"""Exit 0 when the PostgreSQL server in argv[1] (a postgres:// URL) accepts connections."""
import sys

import dj_database_url
import psycopg


def main() -> int:
    cfg = dj_database_url.parse(sys.argv[1])
    try:
        psycopg.connect(dbname=cfg["NAME"], user=cfg["USER"], password=cfg["PASSWORD"] or None,
                        host=cfg["HOST"], port=cfg["PORT"] or 5432, connect_timeout=3).close()
    except psycopg.Error:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
