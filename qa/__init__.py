"""Answers: question understanding, evidence selection and composition."""
