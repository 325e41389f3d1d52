"""The call queue: reminder states, claims, outcomes, appointments, renewals."""
