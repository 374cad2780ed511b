"""Tests of the local kie.ai stand-in and of its contract with the client."""
