"""Fill the demo systems (billing, network, marketing, disclosure log) and the demo document
archive in the databases the settings name: the compose stack's `demo` profile.

    docker compose --profile demo run --rm demo-systems

It DROPS and recreates their tables, so it refuses to run without --drop-and-seed. Never point
it at a real system: in production DSR_SYSTEM_URLS and DSR_DOCUMENT_ARCHIVE_URL name the
company's own databases, which the engine only reads and writes through their declarations.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from demo.archive import seed_archive
from demo.systems import seed_demo_systems
from infra.config import get_settings


async def seed() -> None:
    settings = get_settings()
    await seed_demo_systems(settings.all_system_urls())
    await seed_archive(settings.archive_url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--drop-and-seed",
        action="store_true",
        help="yes: drop the demo systems' and the archive's tables and fill them again",
    )
    args = parser.parse_args(argv)
    if not args.drop_and_seed:
        parser.error("this drops tables: say --drop-and-seed")
    asyncio.run(seed())
    sys.stdout.write("demo systems and document archive seeded\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
