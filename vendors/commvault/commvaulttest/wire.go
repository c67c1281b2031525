package commvaulttest

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"time"
)

// wireUser is one element of GET /User's users array.
type wireUser struct {
	UserEntity struct {
		UserName string `json:"userName" xml:"userName,attr"`
		UserID   int    `json:"userId" xml:"userId,attr"`
		UserGUID string `json:"userGUID" xml:"userGUID,attr"`
	} `json:"userEntity" xml:"userEntity"`
	Email      string `json:"email,omitempty" xml:"email,attr,omitempty"`
	FullName   string `json:"fullName,omitempty" xml:"fullName,attr,omitempty"`
	EnableUser bool   `json:"enableUser" xml:"enableUser,attr"`
}

func toWireUser(u User) wireUser {
	var w wireUser
	w.UserEntity.UserName = u.Name
	w.UserEntity.UserID = u.ID
	w.UserEntity.UserGUID = guidOf(u.ID)
	w.Email = u.Email
	w.FullName = u.FullName
	w.EnableUser = !u.Locked
	return w
}

// wireSession is a session as the seed document shows it: attributes, and
// a user element. The JSON form uses the same names.
type wireSession struct {
	XMLName          xml.Name `json:"-" xml:"sessions"`
	LogoutTime       int64    `json:"logoutTime" xml:"logoutTime,attr"`
	LoginTime        int64    `json:"loginTime" xml:"loginTime,attr"`
	LastAccessedTime int64    `json:"lastAccessedTime,omitempty" xml:"lastAccessedTime,attr,omitempty"`
	Host             string   `json:"host" xml:"host,attr"`
	Location         string   `json:"location,omitempty" xml:"location,attr,omitempty"`
	Description      string   `json:"description" xml:"description,attr"`
	SessionID        string   `json:"sessionId" xml:"sessionId,attr"`
	BrowserSessionID string   `json:"browserSessionId,omitempty" xml:"browserSessionId,attr,omitempty"`
	ConsoleType      int      `json:"consoleType" xml:"consoleType,attr"`
	User             struct {
		UserName string `json:"userName" xml:"userName,attr"`
		UserID   int    `json:"userId" xml:"userId,attr"`
	} `json:"user" xml:"user"`
}

func toWireSession(s Session, u User) wireSession {
	w := wireSession{
		LogoutTime:       unix(s.LogoutTime),
		LoginTime:        unix(s.LoginTime),
		LastAccessedTime: unix(s.LastAccessedTime),
		Host:             s.Host,
		Location:         s.Location,
		SessionID:        s.ID,
		BrowserSessionID: s.BrowserSessionID,
		ConsoleType:      s.ConsoleType,
	}
	w.User.UserName = u.Name
	w.User.UserID = u.ID
	return w
}

// writeSessionsXML writes one session as the seed document does, a
// sessions element alone, and several inside a response element.
func writeSessionsXML(w http.ResponseWriter, list []wireSession) {
	var v any = list
	if len(list) == 1 {
		v = list[0]
	} else {
		v = struct {
			XMLName  xml.Name      `xml:"Api_GetSessionsResp"`
			Sessions []wireSession `xml:"sessions"`
		}{Sessions: list}
	}
	data, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8" standalone="no" ?>`+"\n")
	w.Write(data)
}

// unix is Commvault's time: Unix seconds, 0 for none.
func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// guidOf makes a stable user GUID from an id.
func guidOf(id int) string {
	return fmt.Sprintf("5E2B7F1C-0A3D-4C8E-9B6F-%012X", id)
}
