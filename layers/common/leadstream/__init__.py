"""Leadstream: serverless lead tracking and scoring (shared package, shipped as the CommonLayer)."""
