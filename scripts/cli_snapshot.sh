#!/usr/bin/env bash
# cli_snapshot.sh STUDY OUTDIR: every CLI output of fwa and fw-train on STUDY (table, CSV, JSON, LaTeX),
# one file per command and format (stdout, then the exit code), so that two versions of the code can be
# compared on the same runs:   scripts/cli_snapshot.sh artifacts /tmp/before
#                              (change the code)
#                              scripts/cli_snapshot.sh artifacts /tmp/after && diff -r /tmp/before /tmp/after
# stderr is kept apart (*.err): it holds progress and timing-free notes, compared too. The --help text of
# every fwa command is kept too (help-*.out, at 80 and 200 columns).
set -uo pipefail
study=${1:?usage: cli_snapshot.sh STUDY OUTDIR}
out=${2:?usage: cli_snapshot.sh STUDY OUTDIR}
bin=${BIN:-.venv/bin}
mkdir -p "$out"

snap() {  # snap NAME COMMAND...: stdout to NAME.out with the exit code appended, stderr to NAME.err
  local name=$1; shift
  COLUMNS=200 "$@" >"$out/$name.out" 2>"$out/$name.err" </dev/null
  echo "exit $?" >>"$out/$name.out"
}

for fmt in table csv json latex; do
  snap "ls.$fmt" "$bin/fwa" ls "$study" --format "$fmt"
  snap "accuracy.$fmt" "$bin/fwa" accuracy "$study" --format "$fmt"
  snap "accuracy-mlp.$fmt" "$bin/fwa" accuracy "$study" --model mlp-large --sweep accuracy --format "$fmt"
  snap "update-period.$fmt" "$bin/fwa" update-period "$study" --sweep update-period --format "$fmt"
  snap "cd-low.$fmt" "$bin/fwa" cd-diagram "$study" --sweep accuracy --density-max 0.2 --format "$fmt"
  snap "cd-high.$fmt" "$bin/fwa" cd-diagram "$study" --sweep accuracy --density-gt 0.2 --control magnitude --format "$fmt"
  snap "cd-wilcoxon.$fmt" "$bin/fwa" cd-diagram "$study" --sweep accuracy --density-max 0.2 --test wilcoxon-holm --format "$fmt"
  snap "jaccard-first.$fmt" "$bin/fwa" jaccard "$study" --sweep jaccard-first --at first --format "$fmt"
  snap "jaccard-end.$fmt" "$bin/fwa" jaccard "$study" --sweep jaccard --at end --format "$fmt"
  snap "jaccard-time.$fmt" "$bin/fwa" jaccard "$study" --sweep jaccard --at time --model mlp-large --format "$fmt"
  snap "never-removed.$fmt" "$bin/fwa" never-removed "$study" --sweep jaccard --format "$fmt"
  snap "itop.$fmt" "$bin/fwa" itop "$study" --sweep update-period --format "$fmt"
  snap "loss-gap.$fmt" "$bin/fwa" loss-gap "$study" --sweep loss-gap --format "$fmt"
done
for fmt in table csv json; do
  snap "validate.$fmt" "$bin/fwa" validate "$study" --format "$fmt"
done
for fmt in table csv json md; do
  snap "claims.$fmt" "$bin/fwa" claims "$study" --format "$fmt"
done
# errors: a user mistake is one line (exit 1), a usage error Typer's box (exit 2)
snap "error-criterion" "$bin/fwa" accuracy "$study" --criterion magnitue
snap "error-option" "$bin/fwa" accuracy "$study" --no-such-option
snap "error-path" "$bin/fwa" ls /nonexistent/study
snap "error-no-runs" "$bin/fwa" jaccard "$study" --model no-such-model
snap "error-format" "$bin/fwa" itop "$study" --format yaml
snap "error-plot-suffix" "$bin/fwa" accuracy "$study" --plot out.gif
snap "error-plot-refused" "$bin/fwa" ls "$study" --plot out.png
snap "error-config" "$bin/fwa" ls "$study" --config batch_size
snap "error-at" "$bin/fwa" jaccard "$study" --at middle
snap "error-std" "$bin/fwa" jaccard "$study" --std
snap "error-metric" "$bin/fwa" accuracy "$study" --metric nosuch
snap "error-cd-alpha" "$bin/fwa" cd-diagram "$study" --alpha 2
snap "error-cd-test" "$bin/fwa" cd-diagram "$study" --test t
snap "error-cd-control" "$bin/fwa" cd-diagram "$study" --sweep accuracy --control nosuch
snap "error-cd-input" "$bin/fwa" cd-diagram --input /nonexistent/scores.csv
snap "error-cd-wide" "$bin/fwa" cd-diagram "$study" --wide
snap "error-claims-latex" "$bin/fwa" claims "$study" --format latex
# --help of every command, at two terminal widths
for cols in 80 200; do
  for cmd in "" ls validate jaccard never-removed itop loss-gap accuracy update-period cd-diagram claims report \
    import "import paper-code" "import torch-prune" "import tensorboard" "import wandb-csv"; do
    # shellcheck disable=SC2086  # the command's words split on purpose
    COLUMNS=$cols "$bin/fwa" $cmd --help >"$out/help-${cmd// /-}-$cols.out" 2>&1 </dev/null
    echo "exit $?" >>"$out/help-${cmd// /-}-$cols.out"
  done
done
for fmt in table json; do
  snap "models.$fmt" "$bin/fw-train" models --format "$fmt"
done
snap "datasets" "$bin/fw-train" datasets
for spec in specs/*.toml; do
  name=$(basename "$spec" .toml)
  snap "dry-run-$name" "$bin/fw-train" sweep "$spec" --profile quick --out "$study" --dry-run --format json
done
tables=$(mktemp -d)
snap "tables" "$bin/fw-train" tables --out "$tables"
for f in "$tables"/*; do [ -f "$f" ] && cp "$f" "$out/tables-$(basename "$f")"; done
sed -i "s|$tables|TABLES|g" "$out/tables.err"  # the temporary folder's name differs from run to run
rm -rf "$tables"
echo "$(ls "$out" | wc -l) files in $out"
