"""Configuration: the schema of every key, reading a file with positions, nested value types, the sample."""

from .loader import Config, Problem, check_all, environment_problems, find_file, load, parse_file, read_bounded
from .types import coerce

__all__ = ["Config", "Problem", "check_all", "coerce", "environment_problems", "find_file", "load",
           "parse_file", "read_bounded"]
