#!/usr/bin/env bash
# The deploy's guard against applying what nobody previewed (.github/workflows/deploy-stack.yml). `record` keeps the
# sha256 of the stack's state (`pulumi stack export`: the latest checkpoint, pulumi/pulumi
# pkg/cmd/pulumi/stack/stack_export.go) taken before the preview; `check` refuses the `up` when the state is no
# longer that one, so the preview the summary showed (and a reviewer approved) is not what `up` would do.
#
# Usage: deploy-guard.sh record|check <stack> <file>
set -euo pipefail

usage="usage: deploy-guard.sh record|check <stack> <file>"
mode="${1:?$usage}"
stack="${2:?$usage}"
file="${3:?$usage}"

state="$(mktemp)"
trap 'rm -f "$state"' EXIT
pulumi stack export --stack "$stack" >"$state"
digest="$(sha256sum <"$state" | cut -d ' ' -f 1)"

case "$mode" in
  record)
    echo "$digest" >"$file"
    ;;
  check)
    if [ "$digest" != "$(cat "$file")" ]; then
      echo "::error::The state of stack ${stack} changed after this deploy's preview (another up, a refresh or a state edit, or an earlier attempt of this up that applied part of it). Nothing was applied. Re-run all jobs of this run (a new preview, and for production a new approval), or push again."
      exit 1
    fi
    echo "The state of stack ${stack} is the one previewed."
    ;;
  *)
    echo "$usage" >&2
    exit 2
    ;;
esac
