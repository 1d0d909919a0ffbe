"""Demo data: a deterministic plan of a 90-day history (`plan`) and a driver that plays it through a
running stack's tracking and sales APIs (`driver`). `make run ARGS=--simulate` and
`python -m local.simulate` run it; tests and predictive scoring read plans (with their hidden propensity)
straight from `local.simulator.plan`."""
