from sala.cli import main

main()
