//go:build !race

package pathways

import "github.com/bytedance/sonic"

var decode = sonic.ConfigStd.Unmarshal
