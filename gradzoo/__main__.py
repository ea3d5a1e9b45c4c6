"""``python -m gradzoo`` runs the command line."""

from gradzoo.cli import main

if __name__ == "__main__":
    main()
