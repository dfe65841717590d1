# Everyday commands; each is a thin alias for the script or cargo command it names.
.PHONY: run test fmt lint openapi generate check-generated migrate

run:      ## Beacon with the demo organization
	scripts/run
test:     ## every test (installs what is missing)
	scripts/test
fmt:
	cargo fmt --all
	npm --prefix web run --silent format
lint:
	cargo clippy --workspace --all-targets -- -D warnings
	npm --prefix web run --silent lint
openapi:  ## regenerate openapi/openapi.json only (`generate` also does what depends on it)
	cargo run -q -p api --bin beacon -- openapi
generate: ## regenerate every checked-in generated file (spec, TypeScript API types, tracker builds)
	scripts/generate
check-generated: ## fail when a generated file is stale
	scripts/check-generated
migrate:
	cargo run -q -p api --bin beacon -- migrate
