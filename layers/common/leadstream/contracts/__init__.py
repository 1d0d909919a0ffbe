"""What Leadstream publishes on its EventBridge bus: a public, versioned contract."""
