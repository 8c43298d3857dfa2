# Two entry points for a fresh machine, as root: `make demo` and `make test`.
.PHONY: deps test demo build bench

deps:
	bash fixtures/install-deps.sh
	npm ci --no-audit --no-fund

build: deps
	npm run build

test: deps
	npm test

demo: deps
	npm run demo

bench: deps
	npm run build
	node --experimental-strip-types bench/rsync-install.ts
