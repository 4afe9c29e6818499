"""HTTP routes, thin: validate, call the domain, shape the response."""
