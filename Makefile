# The verbs a newcomer needs; each is a thin alias of dev.py, which also bootstraps.
.PHONY: run test lint format typecheck openapi bench

run:
	python3 dev.py up

test:
	python3 dev.py test

lint:
	python3 dev.py lint

format:
	python3 dev.py format

typecheck:
	python3 dev.py typecheck

openapi:
	python3 dev.py openapi

bench:
	python3 dev.py bench
