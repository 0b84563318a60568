"""The rules of the sales domain; the only code that writes its tables."""
