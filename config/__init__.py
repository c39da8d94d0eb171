"""Configuration: one frozen settings object read from the environment, for every process."""
