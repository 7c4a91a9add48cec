"""What every role shares about a job: manifest, bundles, the content store, commitments, executors."""
