#!/usr/bin/env bash
# Re-make constraints.txt: the exact versions of every dependency (app, test, train and
# cluster extras) that the README's install and CI use, resolved for every Python that
# pyproject.toml allows (uv's universal resolution writes one pin per Python where they
# differ). A new upstream release therefore reaches a fresh install only through this
# script, after `bash .ci/run` has passed with the new file (issue 20: PySide6 6.12.0).
#
#   pip install "uv==0.13.10" && bash scripts/lock.sh
#
# scripts/lock-holds.txt keeps packages below releases that broke us; say why there.
set -euo pipefail
cd "$(dirname "$0")/.."
uv pip compile pyproject.toml --universal --python-version 3.10 \
    --extra test --extra train --extra cluster \
    --constraint scripts/lock-holds.txt \
    --no-header --no-annotate --quiet --output-file constraints.txt.new
{
    echo "# The tested versions of every dependency: pip install -c constraints.txt -e \".[test]\""
    echo "# Made by scripts/lock.sh (uv pip compile --universal); edit that, not this file."
    cat constraints.txt.new
} > constraints.txt.tmp
rm constraints.txt.new
mv constraints.txt.tmp constraints.txt
echo "wrote constraints.txt ($(grep -c '==' constraints.txt) pins)"
