"""The local runner: the stack from template.yaml, served on 127.0.0.1 against moto."""
