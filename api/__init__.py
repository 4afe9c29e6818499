"""The edge: settings, the `guideqa` CLI and (later) the HTTP service."""
