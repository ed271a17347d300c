package main

import "net"

// linkExists tells `gresec check` whether a physical interface exists here.
func linkExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}
