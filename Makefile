# Everyday commands; each is a thin alias for the script or cargo command it names.
.PHONY: run test fmt lint openapi migrate

run:      ## Beacon with the demo organization
	scripts/run
test:     ## every test (installs what is missing)
	scripts/test
fmt:
	cargo fmt --all
lint:
	cargo clippy --workspace --all-targets -- -D warnings
openapi:  ## regenerate openapi/openapi.json
	cargo run -q -p api --bin beacon -- openapi
migrate:
	cargo run -q -p api --bin beacon -- migrate
