#!/usr/bin/env bash
# Lints api/openapi.json with Redocly CLI (redocly.yaml: its recommended
# rules, each a failure) and Spectral (.spectral.yaml: spectral:oas, a
# warning fails), the versions pinned in scripts/openapi-lint/package-lock.json.
#
#   scripts/openapi-lint.sh            install the linters when missing, then lint
#   scripts/openapi-lint.sh install    install them only (scripts/test.sh does,
#                                      and api's TestOpenAPILint runs them)
#
# The linters go to .tools/npm (git-ignored), installed with npm ci from the
# lock file, without install scripts (the only one in the tree is an
# analytics ping). They need Node.js 20.19+ (or 22.12+), with npm.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
spec=$root/scripts/openapi-lint
tools=$root/.tools/npm
bin=$tools/node_modules/.bin

install_linters() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		echo "the OpenAPI linters need Node.js 20.19+ and npm: neither node nor npm is on PATH" >&2
		return 1
	fi
	# Redocly CLI 2.x refuses older Node.js releases (its engines field).
	if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a === 20 && b >= 19 || a === 22 && b >= 12 || a > 22 ? 0 : 1)'; then
		echo "the OpenAPI linters need Node.js 20.19+ or 22.12+; this is $(node --version)" >&2
		return 1
	fi
	# Installed already from this very lock file: nothing to do.
	if [ -x "$bin/redocly" ] && [ -x "$bin/spectral" ] && cmp -s "$spec/package-lock.json" "$tools/package-lock.json"; then
		return 0
	fi
	echo "== installing the OpenAPI linters into .tools/npm (npm ci)" >&2
	mkdir -p "$tools"
	cp "$spec/package.json" "$spec/package-lock.json" "$tools/"
	npm ci --prefix "$tools" --ignore-scripts --no-audit --no-fund --loglevel=error >&2
}

lint() {
	# Neither sends anything anywhere: Redocly's telemetry and update check
	# are off (also telemetry: off in redocly.yaml); Spectral has none.
	export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
	local status=0
	echo "== redocly lint" >&2
	"$bin/redocly" lint --config "$root/redocly.yaml" --format=stylish "$root/api/openapi.json" || status=1
	echo "== spectral lint" >&2
	"$bin/spectral" lint --ruleset "$root/.spectral.yaml" --fail-severity=warn "$root/api/openapi.json" || status=1
	return $status
}

case "${1:-}" in
install) install_linters ;;
"") install_linters && lint ;;
*)
	echo "usage: $0 [install]" >&2
	exit 2
	;;
esac
