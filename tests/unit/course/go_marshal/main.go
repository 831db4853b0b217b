// Reads lines "<Shape>\t<JSON>" and writes, for each, what Go's encoding/json makes of it:
// json.Unmarshal into the course's struct, then json.Marshal, one line per input ("error: ..."
// when Unmarshal refuses it). The structs have the course's fields and JSON names.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// Chapter 3 sends hand-written strings; this struct writes the same fields.
type OrderStatus struct {
	OrderID int    `json:"orderId"`
	Status  string `json:"status"`
}

// Chapter 4.1.
type BaseEvent struct {
	EventID   string    `json:"event_id"`
	EventType string    `json:"event_type"`
	Timestamp time.Time `json:"timestamp"`
}

type OrderCreated struct {
	BaseEvent
	OrderID    string  `json:"order_id"`
	CustomerID string  `json:"customer_id"`
	Amount     float64 `json:"amount"`
}

type OrderApproved struct {
	BaseEvent
	OrderID string `json:"order_id"`
}

type OrderCancelled struct {
	BaseEvent
	OrderID string `json:"order_id"`
	Reason  string `json:"reason"`
}

// Chapter 4.2: no JSON tags.
type OrderChanged struct {
	OrderID     string
	EventType   string
	Description string
}

type OrderDeletedEvent struct {
	OrderID   string
	EventType string
}

// Chapter 5.1: no JSON tags.
type EventMetadata struct {
	ID        string
	Timestamp time.Time
	EventType string
}

type PaymentUpdatedEventPayload struct {
	PaymentID  string
	OrderId    string
	OccurredAt time.Time
	Amount     int
	Status     string
	Currency   string
}

type PaymentUpdatedEvent struct {
	Metadata EventMetadata
	Body     PaymentUpdatedEventPayload
}

func target(shape string) any {
	switch shape {
	case "OrderStatus":
		return &OrderStatus{}
	case "OrderCreated":
		return &OrderCreated{}
	case "OrderApproved":
		return &OrderApproved{}
	case "OrderCancelled":
		return &OrderCancelled{}
	case "OrderCreatedEvent", "OrderUpdatedEvent":
		return &OrderChanged{}
	case "OrderDeletedEvent":
		return &OrderDeletedEvent{}
	case "PaymentUpdatedEvent":
		return &PaymentUpdatedEvent{}
	}
	return nil
}

func main() {
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		shape, text, _ := strings.Cut(scanner.Text(), "\t")
		value := target(shape)
		if value == nil {
			fmt.Println("error: unknown shape", shape)
			continue
		}
		if err := json.Unmarshal([]byte(text), value); err != nil {
			fmt.Println("error:", err)
			continue
		}
		out, err := json.Marshal(value)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Println(string(out))
	}
}
