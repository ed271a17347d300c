//go:build !gresec_testsa

package router

import "github.com/gresec/gresec/internal/api"

// testCommand is empty in production builds: see testsa_on.go.
func (r *Router) testCommand([]string) (api.Response, bool) { return api.Response{}, false }
