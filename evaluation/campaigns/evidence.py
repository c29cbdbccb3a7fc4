"""The supporting files of a declaration: the shared upload checks (charte.uploads), every accepted type."""

from charte.uploads import ACCEPTED, ACCEPTED_LABEL, MAX_FILES, MAX_SIZE, check_file, display_name, storage_name

__all__ = ["ACCEPTED", "ACCEPTED_LABEL", "MAX_FILES", "MAX_SIZE", "check_file", "display_name", "storage_name"]
