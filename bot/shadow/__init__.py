"""Shadow runs, cases and promotion: proving on evidence that code may do a person's step."""
