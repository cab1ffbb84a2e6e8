"""Contracts shared by the Handover services: no web framework, no storage."""

from handover_shared.pagination import Page
from handover_shared.problems import PROBLEM_MEDIA_TYPE, FieldError, Problem

__all__ = ["PROBLEM_MEDIA_TYPE", "FieldError", "Page", "Problem"]
