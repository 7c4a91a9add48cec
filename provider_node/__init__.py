"""The provider node: hardware probe, staking, matching, the claim loop, running and submitting jobs."""
