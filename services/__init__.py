"""What Bookbridge does. No Flask request objects in here."""
