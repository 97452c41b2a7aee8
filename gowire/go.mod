module shortstack/gowire

go 1.22
