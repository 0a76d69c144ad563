"""Evidence documents: the files and links that prove a school's criteria."""
